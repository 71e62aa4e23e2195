# An IPv6 peer inside relay_networks (::1/128 by default) may relay;
# v4-mapped addresses count as IPv4.
@env TCPREMOTEIP=::ffff:127.0.0.9
> EHLO c
<* 250
> MAIL FROM:<a@remote.example>
< 250
> RCPT TO:<x@elsewhere.example>
< 250 2.1.5
> DATA
< 354 End data
> hi
> .
< 250
> QUIT
< 221
! count queue:env 1
! log event=connect peer=127.0.0.9 relay=yes
