# Forwards, commands and LMTP targets go to the queue (smtp-relay runs
# them): one entry, a rcpt-via line for each command and LMTP server, one
# run of a command however many aliases lead to it, Delivered-To on the
# forwarded copy.
@config aliases = {root}/aliases
@write aliases
| fwd: someone@elsewhere.example, alice
| list: "|/usr/bin/env > {root}/got, still one command", lmtp:127.0.0.1:8024
| list2: "|/usr/bin/env > {root}/got, still one command"
| dove: lmtp:unix:/run/dovecot/lmtp
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<fwd@example.org>
< 250 2.1.5
> RCPT TO:<list@example.org>
< 250 2.1.5
> RCPT TO:<list2@example.org>
< 250 2.1.5
> RCPT TO:<dove@example.org>
< 250 2.1.5
> DATA
< 354
> Subject: queued
>
> hello
> .
< 250 2.0.0
> QUIT
< 221
! count example.org/alice/new 1
! count queue:env 1
! grep queue:env ^rcpt pending someone@elsewhere\.example\nrcpt pending list@example\.org\nrcpt-via pipe /usr/bin/env > \S+/got, still one command\nrcpt pending list@example\.org\nrcpt-via lmtp 127\.0\.0\.1:8024\nrcpt pending dove@example\.org\nrcpt-via lmtp unix:/run/dovecot/lmtp\n\Z
! grep queue:msg ^Delivered-To: fwd@example\.org$
