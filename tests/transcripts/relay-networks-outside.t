# An address outside relay_networks may not relay, even loopback when not listed.
@config relay_networks = 192.0.2.0/24
@env TCPREMOTEIP=127.0.0.1
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<x@elsewhere.example>
< 554 5.7.1
> QUIT
< 221
! count queue:env 0
