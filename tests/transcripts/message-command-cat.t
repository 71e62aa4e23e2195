# message_command = cat prints every message to the log: DebuggingServer.
@config message_command = cat
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<anyone@example.org>
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
