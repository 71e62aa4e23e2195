# "@domain" catches what no user and no alias of that domain takes; an alias
# wins over a Maildir of the same name; postmaster is never caught.
@config aliases = {root}/aliases
@maildir example.net/carol
@write aliases
| @example.net: bob@example.org
| alice: bob
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<anything@example.net>
< 250 2.1.5
> RCPT TO:<carol@example.net>
< 250 2.1.5
> RCPT TO:<alice@example.org>
< 250 2.1.5
> RCPT TO:<postmaster@example.net>
< 250 2.1.5
> RCPT TO:<nobody@example.org>
< 550 5.1.1
> DATA
< 354
> Subject: caught
>
> hello
> .
< 250 2.0.0
> QUIT
< 221
! count example.org/bob/new 1
! count example.org/alice/new 0
! count example.net/carol/new 1
! count example.net/postmaster/new 1
! grep example.org/bob/new ^Delivered-To: anything@example\.net$
! grep example.org/bob/new ^Delivered-To: alice@example\.org$
