# More than 100 Received fields: 554 5.4.6 (a mail loop).
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
>raw {101*Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n}Subject: loop\r\n\r\nbody\r\n.\r\n
< 554 5.4.6
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
>raw {100*Received: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\r\n}Subject: ok\r\n\r\nbody\r\nReceived: in the body does not count\r\n.\r\n
< 250 2.0.0
> QUIT
< 221
! count example.org/alice/new 1
