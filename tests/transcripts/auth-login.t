# AUTH LOGIN: 334 VXNlcm5hbWU6 ("Username:"), 334 UGFzc3dvcmQ6
# ("Password:"), 235; the answers are not logged even at log_level = debug.
@file users
| # login:hash (crypt(3)); passwords: alice secret, bob hunter2, carol sesame, dave opensesame
| alice@example.org:$y$j9T$F5Jx5fExrKuPp53xLKQ..1$GmcwIgvdUC9qLWcKCi6gklUa1dM3ziD43YxYNURLKy0
| bob@example.org:$6$Hq7D9z3lWq0yB2Yc$MaGTq08k99VJSKvk9X.BQrXX/5jzUlUe0DbYx1fVqyxNEoSBmpde2cKpcGQAx.4BkNzk4mbc4xPYD8movbcre.
| carol@example.org:$5$r8Z0xYb1cQk2Lm3N$UKFtk4erKwE6TIC2sySG7Foyc.rnriB3/UhaDt.uHH0
| dave@example.org:$2b$05$abcdefghijklmnopqrstuuQbLfdQZSxZ9gjhA5V9o8Tyc6aQRO0Qi
@config auth_users = {root}/users
@config auth_require_tls = no
@config log_level = debug
< 220
> EHLO c
<* 250
> AUTH LOGIN
< 334 VXNlcm5hbWU6
> YWxpY2VAZXhhbXBsZS5vcmc=
< 334 UGFzc3dvcmQ6
> c2VjcmV0
< 235 2.7.0 Authentication successful
> QUIT
< 221
! log event=command text="AUTH LOGIN"
! nolog c2VjcmV0
! nolog YWxpY2VAZXhhbXBsZS5vcmc=
! nolog secret
