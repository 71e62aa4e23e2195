# Without submission, a remote client outside relay_networks may relay only
# once authenticated.
@file users
| # login:hash (crypt(3)); passwords: alice secret, bob hunter2, carol sesame, dave opensesame
| alice@example.org:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0
| bob@example.org:$6$Hq7D9z3lWq0yB2Yc$MaGTq08k99VJSKvk9X.BQrXX/5jzUlUe0DbYx1fVqyxNEoSBmpde2cKpcGQAx.4BkNzk4mbc4xPYD8movbcre.
| carol@example.org:$5$r8Z0xYb1cQk2Lm3N$UKFtk4erKwE6TIC2sySG7Foyc.rnriB3/UhaDt.uHH0
| dave@example.org:$2b$05$abcdefghijklmnopqrstuuQbLfdQZSxZ9gjhA5V9o8Tyc6aQRO0Qi
@config auth_users = {root}/users
@config auth_require_tls = no
@env TCPREMOTEIP=203.0.113.7
< 220
> EHLO c
<* 250
> MAIL FROM:<someone@example.net>
< 250
> RCPT TO:<friend@elsewhere.example>
< 554 5.7.1
> RSET
< 250
> AUTH PLAIN AGJvYkBleGFtcGxlLm9yZwBodW50ZXIy
< 235
> MAIL FROM:<someone@example.net>
< 250
> RCPT TO:<friend@elsewhere.example>
< 250 2.1.5
> QUIT
< 221
