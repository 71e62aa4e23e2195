# A command that runs past message_command_timeout is killed with its whole
# process group (its background child too): 451 4.3.0, and the session
# goes on.
@config message_command = {root}/slow
@config message_command_timeout = 1
@write slow
| #!/bin/sh
| sleep 300 &
| echo $! >{root}/child
| sleep 300
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354
> Subject: slow
> .
< 451 4.3.0
> QUIT
< 221
! log event=command msgid=\S+ end=timeout
! count queue:tmp 0
