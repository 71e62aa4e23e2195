# A command that leaves a background child holding its output open is done
# when it exits: its verdict counts, no wait for the child, no timeout.
@config message_command = sleep 3 & echo started; cat >/dev/null
@config message_command_timeout = 2
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354
> Subject: background
> .
< 250 2.0.0
> QUIT
< 221
! log event=command-output line=started
! log event=command msgid=\S+ end=exit status=0
