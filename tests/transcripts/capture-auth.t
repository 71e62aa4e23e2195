# capture: any AUTH login succeeds (no back end, no TLS needed), so a client
# configured with a password works against the mail catcher unchanged.
@config capture = {root}/capture
@env TCPREMOTEIP=192.0.2.7
< 220 mx.example.org ESMTP
> EHLO client.example
<~ 250-mx\.example\.org.*
<~ 250-.*
<~ 250-.*
<~ 250-.*
<~ 250-.*
<~ 250-.*
< 250 AUTH PLAIN LOGIN
> AUTH PLAIN AGFueW9uZQB3aGF0ZXZlcg==
< 235 2.7.0
> MAIL FROM:<me@laptop.example>
< 250 2.1.0
> RCPT TO:<someone@elsewhere.example>
< 250 2.1.5
> DATA
< 354
> Subject: with a login
> .
< 250 2.0.0
> QUIT
< 221
! count root:capture/new 1
! count queue:env 0
