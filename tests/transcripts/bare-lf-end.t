# A client that ends lines with bare LF never ends DATA with "\n.\n"; its
# message is refused once a real <CRLF>.<CRLF> comes, and the session goes on.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
>raw Subject: x\n\nbody\n.\n\r\n.\r\n
< 554 5.6.0 Message refused: bare LF
> NOOP
< 250
> QUIT
< 221
! count example.org/alice/new 0
! count example.org/alice/tmp 0
