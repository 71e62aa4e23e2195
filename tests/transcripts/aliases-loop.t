# Loops and chains deeper than 10 aliases are refused at RCPT (5xx), never a
# hang; a chain of exactly 10 works, and so does "name: \name, ..." (the
# user's own Maildir, then a copy elsewhere).
@config aliases = {root}/aliases
@write aliases
| ping: pong
| pong: ping
| d1: d2
| d2: d3
| d3: d4
| d4: d5
| d5: d6
| d6: d7
| d7: d8
| d8: d9
| d9: d10
| d10: alice
| deep: d1
| bob: \bob, alice
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<ping@example.org>
< 554 5.4.6
> RCPT TO:<d1@example.org>
< 250 2.1.5
> RCPT TO:<deep@example.org>
< 554 5.4.6
> RCPT TO:<bob@example.org>
< 250 2.1.5
> DATA
< 354
> Subject: deep
>
> hello
> .
< 250 2.0.0
> QUIT
< 221
! count example.org/alice/new 1
! count example.org/bob/new 1
! grep example.org/bob/new ^Delivered-To: bob@example\.org$
! log event=alias-loop rcpt=ping@example.org
