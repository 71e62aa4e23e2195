# message_command (Python smtpd's process_message): one run per message with
# all recipients, the envelope in the environment and never on the command
# line, the message as stored on stdin; every local-domain recipient is
# accepted without a Maildir, foreign ones follow the relay rules, and
# nothing is stored or queued.  The sender here is a valid address whose
# local part is shell syntax: "$SENDER" in the command is one word, never
# shell text.
@config message_command = {root}/record "$SENDER"
@env TCPREMOTEIP=192.0.2.7
@write record
| #!/bin/sh
| mkdir -p {root}/got
| { echo "ARGS=$#:$1"; echo "SENDER=$SENDER"; echo "RECIPIENTS=$RECIPIENTS"; echo "PEER=$PEER"
|   echo "HELO=$HELO"; echo "SESSION_ID=$SESSION_ID"; echo "MESSAGE_ID=$MESSAGE_ID"; cat; } >{root}/got/out
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<`echo${IFS}pwned`@remote.example>
< 250 2.1.0
> RCPT TO:<nobody-has-this@example.org>
< 250 2.1.5
> RCPT TO:<alice@example.net>
< 250 2.1.5
> RCPT TO:<someone@elsewhere.example>
< 554 5.7.1
> DATA
< 354
> Subject: process me
>
> body
> .
<~ 250 2\.0\.0 Ok: processed as \S+
> QUIT
< 221
! count example.org/alice/new 0
! count queue:env 0
! count queue:tmp 0
! count queue:msg 0
! file root:got
| ARGS=1:`echo${IFS}pwned`@remote.example
| SENDER=`echo${IFS}pwned`@remote.example
| RECIPIENTS=nobody-has-this@example.org alice@example.net
| PEER=192.0.2.7
| HELO=client.example
|~ SESSION_ID=\S+
|~ MESSAGE_ID=\d+\.M\d+P\d+Q1
| Return-Path: <`echo${IFS}pwned`@remote.example>
| Received: from client.example ([192.0.2.7])
|~ 	by mx\.example\.org \(mailsock\) with SMTP id \S+
|~ 	\w{3}, .*
| Subject: process me
|
| body
! log event=command msgid=\S+ end=exit status=0
