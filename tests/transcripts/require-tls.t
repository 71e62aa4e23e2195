# require_tls: MAIL before STARTTLS gets 530 5.7.0 (RFC 3207 4).
@config require_tls = yes
< 220
> EHLO client.example
<* 250
> MAIL FROM:<a@b.example>
< 530 5.7.0
> QUIT
< 221
