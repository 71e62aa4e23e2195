# A client that disconnects mid-DATA leaves nothing in new/ or tmp/.
< 220
> EHLO c
<* 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<alice@example.org>
< 250
> DATA
< 354 End data
> Subject: cut
>
> no end
! count example.org/alice/new 0
! count example.org/alice/tmp 0
! log event=data-aborted .* reason=disconnect
! log event=disconnect reason=eof
