# A peer from TCPREMOTEIP is named in Received, and may not relay.
@env TCPREMOTEIP=192.0.2.7
> EHLO client.example
<* 250
> MAIL FROM:<a@remote.example>
< 250
> RCPT TO:<someone@elsewhere.example>
< 554 5.7.1
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
> hi
> .
< 250
> QUIT
< 221
! grep example.org/alice/new ^Received: from client\.example \(\[192\.0\.2\.7\]\)$
! count queue:env 0
! log event=connect peer=192.0.2.7 relay=no
! log event=rcpt to=someone@elsewhere.example result=refused reason=relay-denied
