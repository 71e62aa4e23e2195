# RSET drops the transaction; two transactions in one session.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> RSET
< 250 2.0.0
> DATA
< 503 5.5.1
> MAIL FROM:<x@y.example>
< 250
> RCPT TO:<bob@example.org>
< 250
> DATA
< 354 End data
> first
> .
< 250
> MAIL FROM:<x@y.example>
< 250
> RCPT TO:<bob@example.org>
< 250
> DATA
< 354 End data
> second
> .
< 250
> QUIT
< 221
! count example.org/alice/new 0
! count example.org/bob/new 2
