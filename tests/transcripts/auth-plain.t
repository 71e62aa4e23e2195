# AUTH PLAIN with an initial response (RFC 4616), in clear (auth_require_tls = no);
# the Received field says ESMTPA (RFC 3848) and the log names the login.
@file users
| # login:hash (crypt(3)); passwords: alice secret, bob hunter2, carol sesame, dave opensesame
| alice@example.org:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0
| bob@example.org:$6$Hq7D9z3lWq0yB2Yc$MaGTq08k99VJSKvk9X.BQrXX/5jzUlUe0DbYx1fVqyxNEoSBmpde2cKpcGQAx.4BkNzk4mbc4xPYD8movbcre.
| carol@example.org:$5$r8Z0xYb1cQk2Lm3N$UKFtk4erKwE6TIC2sySG7Foyc.rnriB3/UhaDt.uHH0
| dave@example.org:$2b$05$abcdefghijklmnopqrstuuQbLfdQZSxZ9gjhA5V9o8Tyc6aQRO0Qi
@config auth_users = {root}/users
@config auth_require_tls = no
@env TCPREMOTEIP=192.0.2.9
< 220
> EHLO c
<* 250
> AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
< 235 2.7.0
> MAIL FROM:<alice@example.org>
< 250
> RCPT TO:<bob@example.org>
< 250
> DATA
< 354
> Subject: hi
>
> body
> .
< 250 2.0.0
> QUIT
< 221
! grep example.org/bob/new with ESMTPA id
! log event=auth mechanism=PLAIN result=ok auth=alice@example.org
! log event=message .* auth=alice@example.org
! nolog secret
