# One message to one local user, stored byte-exact with Return-Path and Received.
< 220 mx.example.org ESMTP
> EHLO client.example
< 250-mx.example.org
< 250-PIPELINING
< 250-SIZE 33554432
< 250-8BITMIME
< 250-ENHANCEDSTATUSCODES
< 250 SMTPUTF8
> MAIL FROM:<sender@remote.example>
< 250 2.1.0
> RCPT TO:<alice@example.org>
< 250 2.1.5
> DATA
< 354 End data
> Subject: hello
> From: sender@remote.example
>
> first line
> ..a stuffed dot
>   indented
> .
<~ 250 2\.0\.0 Ok: queued as \d+\.M\d{6}P\d+Q1
> QUIT
< 221 2.0.0 mx.example.org
! count example.org/alice/new 1
! count example.org/alice/tmp 0
! file example.org/alice/new
| Return-Path: <sender@remote.example>
| Received: from client.example (local)
|~ 	by mx\.example\.org \(mailsock\) with ESMTP id \d+\.M\d{6}P\d+Q1
|~ 	for <alice@example\.org>; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}
| Subject: hello
| From: sender@remote.example
|
| first line
| .a stuffed dot
|   indented
! log event=message msgid=\S+ size=\d+ nrcpt=1 from=sender@remote.example
! log event=disconnect reason=quit messages=1 rcpts=1 errors=0
