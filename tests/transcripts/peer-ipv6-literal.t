# Received names an IPv6 peer as an IPv6 address literal.
@env TCPREMOTEIP=2001:db8::25
> EHLO c
<* 250
> MAIL FROM:<a@remote.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
> hi
> .
< 250
> QUIT
< 221
! grep example.org/alice/new ^Received: from c \(\[IPv6:2001:db8::25\]\)$
