# SMTP smuggling: \n.\n inside the data must not end the message.
# Only <CRLF>.<CRLF> ends DATA; a message with a bare CR or LF is refused.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
>raw Subject: smuggle\r\n\r\nbody\n.\nMAIL FROM:<evil@attacker.example>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\nsmuggled\r\n.\r\n
< 554 5.6.0
> QUIT
< 221
! count example.org/bob/new 0
! count example.org/alice/new 0
! count example.org/alice/tmp 0
