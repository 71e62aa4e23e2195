# The Maildir file name carries the queue id, the host name and the size.
< 220
> HELO c
< 250 mx.example.org
> MAIL FROM:<>
< 250 2.1.0
> RCPT TO:<bob@example.org>
< 250 2.1.5
> DATA
< 354 End data
> x
> .
< 250 2.0.0
> QUIT
< 221
! count example.org/bob/new 1
! file example.org/bob/new
| Return-Path: <>
| Received: from c (local)
|~ 	by mx\.example\.org \(mailsock\) with SMTP id .*
|~ 	for <bob@example\.org>; .*
| x
! log msgid=\d+\.M\d+P\d+Q1 size=\d+
