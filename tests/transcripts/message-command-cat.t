# message_command = cat prints every message to the log: DebuggingServer.
# A local session may relay: a foreign recipient is accepted too, and
# nothing is queued for it (the command has the message).
@config message_command = cat
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<anyone@example.org>
< 250
> RCPT TO:<friend@elsewhere.example>
< 250
> DATA
< 354
> Subject: print me
>
> the body line
> .
< 250 2.0.0
> QUIT
< 221
! log event=command-output line="?Subject: print me
! log event=command-output line="?the body line
! count example.org/alice/new 0
! count queue:env 0
! count queue:tmp 0
