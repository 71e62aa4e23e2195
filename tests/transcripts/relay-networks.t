# relay_networks decides who may relay.
@config relay_networks = 192.0.2.0/24 2001:db8::/32
@env TCPREMOTEIP=192.0.2.200
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<x@elsewhere.example>
< 250 2.1.5
> RSET
< 250
> QUIT
< 221
