# A user directory that is not a complete Maildir: 451 4.3.0, logged.
@mkdir example.org/dave
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<dave@example.org>
< 451 4.3.0
> QUIT
< 221
! log event=trouble path=example.org/dave error="not a Maildir
