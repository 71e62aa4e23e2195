# A broken aliases file: 451 4.3.0 for every recipient it could answer (the
# local domains), a log line naming file and line; relayed recipients are
# not its business.  Nothing is bounced because of a typo.
@config aliases = {root}/aliases
@write aliases
| staff: alice, bob
| this line has no colon
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<alice@example.org>
< 250 2.1.0
> RCPT TO:<staff@example.org>
< 451 4.3.0
> RCPT TO:<alice@example.org>
< 451 4.3.0
> RCPT TO:<friend@elsewhere.example>
< 250 2.1.5
> QUIT
< 221
! log event=trouble path=\S+/aliases line=2 error=
