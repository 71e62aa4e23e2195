# A declared SIZE above max_message_size is refused at MAIL (RFC 1870).
@config max_message_size = 2048
< 220
> EHLO c
< 250-mx.example.org
< 250-PIPELINING
< 250-SIZE 2048
<* 250
> MAIL FROM:<a@b.example> SIZE=2049
< 552 5.3.4
> MAIL FROM:<a@b.example> SIZE=2048
< 250
> QUIT
< 221
