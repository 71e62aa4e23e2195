# Content whose first line starts with HT cannot continue our Received
# field: an empty line is stored first, so that line is in the body.
< 220 mx.example.org ESMTP
> HELO client.example
< 250
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<alice@example.org>
< 250 2.1.5
> DATA
< 354 End data
>raw \t(forged: from [10.0.0.1] by trusted)\r\nSubject: x\r\n\r\nbody\r\n.\r\n
< 250
> QUIT
< 221
! file example.org/alice/new
| Return-Path: <sender@remote.example>
| Received: from client.example (local)
|~ 	by mx\.example\.org \(mailsock\) with SMTP id \S+
|~ 	for <alice@example\.org>; .*
|
| 	(forged: from [10.0.0.1] by trusted)
| Subject: x
|
| body
