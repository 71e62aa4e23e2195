# Text lines longer than 1000 octets are stored whole, never split.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
>raw Subject: long\r\n\r\n{5000*y}\r\nshort\r\n.\r\n
< 250 2.0.0
> QUIT
< 221
! grep example.org/alice/new \n\n(y{5000})\nshort\n\Z
