# log_level = debug logs every command and reply, never the message body.
@config log_level = debug
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
> secret body text
> .
< 250
> QUIT
< 221
! log event=command text="MAIL FROM:<a@b.example>"
! log event=reply text="250 2.1.0 Sender <a@b.example> OK"
! nolog secret body
