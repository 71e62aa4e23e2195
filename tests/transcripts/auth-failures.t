# Wrong password and unknown login: the same 535 5.7.8; a cancel (*) is
# 501 5.7.0; bad base64 501 5.5.2; an unknown mechanism 504 5.5.4.
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
> AUTH PLAIN AGFsaWNlQGV4YW1wbGUub3JnAHdyb25nLXBhc3N3b3Jk
< 535 5.7.8 Authentication credentials invalid
> AUTH PLAIN AG5vYm9keUBleGFtcGxlLm9yZwB3cm9uZy1wYXNzd29yZA==
< 535 5.7.8 Authentication credentials invalid
> AUTH LOGIN
< 334 VXNlcm5hbWU6
> *
< 501 5.7.0
> AUTH PLAIN
< 334 
> not base64!
< 501 5.5.2
> AUTH CRAM-MD5
< 504 5.5.4
> AUTH LOGIN YWxpY2VAZXhhbXBsZS5vcmc=
< 334 UGFzc3dvcmQ6
> aHVudGVyMg==
< 535 5.7.8
> QUIT
< 221
! log event=auth mechanism=PLAIN result=failed
! nolog wrong-password
! nolog hunter2
! nolog AGFsaWNlQGV4YW1wbGUub3JnAHdyb25nLXBhc3N3b3Jk
