# With the default auth_require_tls = yes and no TLS: AUTH is not offered,
# and refused with 538 5.7.11.
@file users
| # login:hash (crypt(3)); passwords: alice secret, bob hunter2, carol sesame, dave opensesame
| alice@example.org:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0
| bob@example.org:$6$Hq7D9z3lWq0yB2Yc$MaGTq08k99VJSKvk9X.BQrXX/5jzUlUe0DbYx1fVqyxNEoSBmpde2cKpcGQAx.4BkNzk4mbc4xPYD8movbcre.
| carol@example.org:$5$r8Z0xYb1cQk2Lm3N$UKFtk4erKwE6TIC2sySG7Foyc.rnriB3/UhaDt.uHH0
| dave@example.org:$2b$05$abcdefghijklmnopqrstuuQbLfdQZSxZ9gjhA5V9o8Tyc6aQRO0Qi
@config auth_users = {root}/users
< 220
> EHLO c
< 250-mx.example.org
< 250-PIPELINING
< 250-SIZE
< 250-8BITMIME
< 250-ENHANCEDSTATUSCODES
< 250 SMTPUTF8
> AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==
< 538 5.7.11
> QUIT
< 221
