# A message that already carries our Delivered-To: for an alias it is
# addressed to went round a forward: 554 5.4.6 (qmail's rule).  The same
# header for an address it is not expanded for is no loop.
@config aliases = {root}/aliases
@write aliases
| staff: alice, bob
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<staff@example.org>
< 250 2.1.5
> DATA
< 354
> Delivered-To: STAFF@example.org
> Subject: round
>
> hello
> .
< 554 5.4.6
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<alice@example.org>
< 250 2.1.5
> DATA
< 354
> Delivered-To: staff@example.org
> Subject: direct
>
> hello
> .
< 250 2.0.0
> QUIT
< 221
! count example.org/alice/new 1
! count example.org/bob/new 0
! log event=loop
