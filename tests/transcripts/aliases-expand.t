# An alias to several users, an alias of an alias, a name in one domain:
# each user gets one copy however many recipients lead to it, each copy
# carries Delivered-To: for the aliases, and the refusal of an unknown user
# is still 550 at RCPT.
@config aliases = {root}/aliases
@write aliases
| # staff of both domains
| staff: alice, bob
| info: staff
| sales@example.org: alice,
|   bob@example.org
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<staff@example.org>
< 250 2.1.5 Recipient <staff@example.org> OK
> RCPT TO:<Info@Example.org>
< 250 2.1.5
> RCPT TO:<alice@example.org>
< 250 2.1.5
> RCPT TO:<sales@example.org>
< 250 2.1.5
> RCPT TO:<sales@example.net>
< 550 5.1.1
> RCPT TO:<nobody@example.org>
< 550 5.1.1
> DATA
< 354
> Subject: staff
>
> hello
> .
< 250 2.0.0
> QUIT
< 221
! count example.org/alice/new 1
! count example.org/bob/new 1
! grep example.org/alice/new ^Delivered-To: staff@example\.org$
! grep example.org/bob/new ^Delivered-To: Info@Example\.org$
! grep example.org/bob/new ^Delivered-To: sales@example\.org$
! nogrep example.org/bob/new ^Delivered-To: alice@
! count queue:env 0
! log event=alias rcpt=staff@example.org target=example.org/bob
