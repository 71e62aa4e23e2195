# capture = MAILDIR: every message to any address at any domain, from any
# client (here a remote one that may not relay), is stored there once, and
# nothing is relayed or delivered elsewhere; it wins over aliases and
# message_command.
@config capture = {root}/capture
@config aliases = {root}/aliases
@config message_command = false
@env TCPREMOTEIP=192.0.2.7
@write aliases
| alice: someone@elsewhere.example
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<someone@elsewhere.example>
< 250 2.1.5
> RCPT TO:<alice@example.org>
< 250 2.1.5
> RCPT TO:<x@[192.0.2.1]>
< 250 2.1.5
> RCPT TO:<nobody@example.net>
< 250 2.1.5
> DATA
< 354
> Subject: caught
>
> hello
> .
< 250 2.0.0
> QUIT
< 221
! count root:capture/new 1
! count root:capture/tmp 0
! grep root:capture/new ^Subject: caught$
! count example.org/alice/new 0
! count queue:env 0
