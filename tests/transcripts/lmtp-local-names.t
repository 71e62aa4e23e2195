# local_delivery = lmtp: the local-part rules of Maildir delivery hold
# before the LMTP server is asked (none listens here: an asked one is 4xx),
# even for a relay client (the local peer may relay).
@config local_delivery = lmtp:unix:{root}/no-lmtp.sock
< 220
> HELO c
< 250
> MAIL FROM:<a@b.example>
< 250
> RCPT TO:<"a b"@example.org>
< 553 5.1.3
> RCPT TO:<a%b@example.org>
< 553 5.1.3
> RCPT TO:<a!b@example.org>
< 553 5.1.3
> RCPT TO:<.a@example.org>
< 553 5.1.3
> RCPT TO:<..@example.org>
< 553 5.1.3
> RCPT TO:<alice@example.org>
< 4
> QUIT
< 221
