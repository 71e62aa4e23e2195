# A message bigger than max_message_size gets 552 after the data; the rest
# is drained and the session stays usable.
@config max_message_size = 1024
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
>raw {40*0123456789012345678901234567890123456789\r\n}.\r\n
< 552 5.3.4
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
> small
> .
< 250 2.0.0
> QUIT
< 221
! count example.org/alice/new 1
! count example.org/alice/tmp 0
! grep example.org/alice/new \nsmall\n\Z
