# Relay tricks from a peer that may not relay: all refused, nothing queued.
@env TCPREMOTEIP=198.51.100.9
@config max_errors = 50
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<victim%elsewhere.example@example.org>
< 553 5.1.3
> RCPT TO:<@example.org,@relay.example:victim@elsewhere.example>
< 554 5.7.1
> RCPT TO:<@example.org:alice@example.org>
< 554 5.7.1
> RCPT TO:<elsewhere.example!victim@example.org>
< 553 5.1.3
> RCPT TO:<"victim@elsewhere.example"@example.org>
< 553 5.1.3
> RCPT TO:<victim@[192.0.2.1]>
< 554 5.7.1
> RCPT TO:<victim@[IPv6:2001:db8::1]>
< 554 5.7.1
> RCPT TO:<victim@example.org.elsewhere.example>
< 554 5.7.1
> RCPT TO:<victim@sub.example.org>
< 554 5.7.1
> RCPT TO:<victim@ELSEWHERE.EXAMPLE>
< 554 5.7.1
> RCPT TO:<victim@example.org.>
< 553 5.1.3
> DATA
< 554 5.5.1
> QUIT
< 221
! count queue:env 0
! count queue:msg 0
