# A local (trusted) session relays: the message and its envelope go to the queue.
> EHLO client.example
<* 250
> MAIL FROM:<alice@example.org> BODY=8BITMIME
< 250 2.1.0
> RCPT TO:<bob@elsewhere.example>
< 250 2.1.5
> RCPT TO:<carol@elsewhere.example>
< 250 2.1.5
> RCPT TO:<bob@example.org>
< 250 2.1.5
> DATA
< 354 End data
> Subject: out
>
> body
> .
< 250 2.0.0
> QUIT
< 221
! count queue:env 1
! count queue:msg 1
! count queue:tmp 0
! count example.org/bob/new 1
! count example.org/bob/tmp 0
! grep queue:env ^version 1\nid \S+\narrival \d+\npeer local\nhelo client\.example\nsession \S+\nsender alice@example\.org\nbody 8BITMIME\nsmtputf8 no\nattempts 0\nnext \d+\nrcpt pending bob@elsewhere\.example\nrcpt pending carol@elsewhere\.example\n\Z
! grep queue:msg ^Return-Path: <alice@example\.org>\nReceived: from client\.example \(local\)\n
! nogrep queue:msg for <
! grep queue:msg \nSubject: out\n\nbody\n\Z
