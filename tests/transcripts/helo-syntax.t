# HELO and EHLO need a clean name: it goes into the Received field.
< 220
> HELO
< 501 5.5.4
> EHLO
< 501 5.5.4
>raw EHLO a\x01b\r\n
< 501 5.5.2
>raw HELO caf\xc3\xa9\r\n
< 501 5.5.2
> EHLO ok.example
<* 250
> QUIT
< 221
