# Non-ASCII addresses need SMTPUTF8 (RFC 6531): 553 5.6.7 without it.
@maildir example.org/jörg
< 220
> EHLO c
<* 250
> MAIL FROM:<müller@b.example>
< 553 5.6.7
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<jörg@example.org>
< 553 5.6.7
> RSET
< 250
> MAIL FROM:<müller@b.example> SMTPUTF8
< 250 2.1.0
> RCPT TO:<jörg@example.org>
< 250 2.1.5
> DATA
< 354 End data
> Subject: grüße
> .
< 250
> QUIT
< 221
! grep example.org/jörg/new ^Return-Path: <müller@b\.example>\n
! grep example.org/jörg/new with UTF8SMTP id
