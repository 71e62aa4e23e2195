# A missing mail root: 451 4.3.0 and a log line naming the path, never 250.
@config mail_root = /nonexistent/mailsock-test
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 451 4.3.0
> QUIT
< 221
! log event=trouble path=/nonexistent/mailsock-test
