.class public final Lcom/umeng/analytics/MobclickAgent;
.super Ljava/lang/Object;

.method public static flush()V
    .registers 0
    return-void
.end method

.method public static onEvent(Landroid/content/Context;Ljava/lang/String;)V
    .registers 4
    const-string v0, "phone"
    invoke-virtual {p0, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/telephony/TelephonyManager;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;
    move-result-object v1
    return-void
.end method

.method public static onEvent5(Ljava/lang/String;Ljava/lang/Object;III)V
    .registers 5
    invoke-static {p0, p1}, Lcom/umeng/analytics/MobclickAgent;->send(Ljava/lang/String;Ljava/lang/Object;)V
    return-void
.end method

.method private static send(Ljava/lang/String;Ljava/lang/Object;)V
    .registers 3
    const-string v0, "https://alog.umeng.com/app_logs"
    invoke-static {v0, p0}, Lcom/umeng/analytics/MobclickAgent;->post(Ljava/lang/String;Ljava/lang/String;)V
    return-void
.end method

.method private static native post(Ljava/lang/String;Ljava/lang/String;)V
.end method
