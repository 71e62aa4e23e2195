# The reply to the final dot is the command's verdict: exit 0 is 250, 75 and
# 71 are 451 4.3.0, any other exit 554 5.3.0, and a first output line that
# starts with an enhanced code is the reply's code and text (like pipe(8)).
@config message_command = {root}/judge
@write judge
| #!/bin/sh
| msg=$(cat)
| say=$(printf '%s\n' "$msg" | sed -n 's/^X-Say: //p')
| [ -z "$say" ] || echo "$say"
| exit "$(printf '%s\n' "$msg" | sed -n 's/^X-Exit: //p')"
< 220 mx.example.org ESMTP
> HELO client.example
< 250 mx.example.org
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<list@example.org>
< 250
> DATA
< 354
> X-Exit: 0
> .
< 250 2.0.0
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<list@example.org>
< 250
> DATA
< 354
> X-Exit: 75
> .
< 451 4.3.0
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<list@example.org>
< 250
> DATA
< 354
> X-Exit: 71
> .
< 451 4.3.0
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<list@example.org>
< 250
> DATA
< 354
> X-Exit: 1
> .
< 554 5.3.0
> MAIL FROM:<a@example.org>
< 250
> RCPT TO:<list@example.org>
< 250
> DATA
< 354
> X-Exit: 67
> X-Say: 5.1.1 no such list
> .
< 554 5.1.1 no such list
> QUIT
< 221
! log event=command-output line="?5.1.1 no such list
! count queue:env 0
! count queue:tmp 0
