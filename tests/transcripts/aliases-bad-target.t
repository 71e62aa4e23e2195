# An alias whose target names no user is the administrator's mistake:
# 451 4.3.0 (tried again later), never a bounce; logged with the line.
@config aliases = {root}/aliases
@write aliases
| staff: alice, nosuch
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<staff@example.org>
< 451 4.3.0
> QUIT
< 221
! log line=1 error="?target names no user"?
