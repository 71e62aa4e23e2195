# An aliases key naming a file that is not there: 451 4.3.0, logged.
@config aliases = {root}/no-such-file
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<alice@example.org>
< 451 4.3.0
> QUIT
< 221
! log event=trouble path=\S+/no-such-file line=0
