.class public Lcom/example/sample/Main;
.super Landroid/app/Activity;
.implements Ljava/lang/Runnable;
.implements Lcom/example/sample/Tracker;

# Test input for tests/android/test_dex.py: every reference kind, payloads placed between
# instructions, a range invoke, a jumbo string and non-ASCII strings.

.field public static TAG:Ljava/lang/String;
.field private count:I
.field private name:Ljava/lang/String;

.method static constructor <clinit>()V
    .registers 1
    const-string v0, "appvet-sample"
    sput-object v0, Lcom/example/sample/Main;->TAG:Ljava/lang/String;
    return-void
.end method

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 9
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    const-string v0, "https://api.example.com/v1/collect"
    invoke-static {v0}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    iget v1, p0, Lcom/example/sample/Main;->count:I
    add-int/lit8 v1, v1, 0x1
    iput v1, p0, Lcom/example/sample/Main;->count:I
    sget-object v2, Lcom/example/sample/Main;->TAG:Ljava/lang/String;
    move-object v3, p0
    const/4 v4, 0x0
    const/4 v5, 0x1
    const/4 v6, 0x2
    invoke-static/range {v2 .. v6}, Lcom/umeng/analytics/MobclickAgent;->onEvent5(Ljava/lang/String;Ljava/lang/Object;III)V
    invoke-virtual {p0}, Lcom/example/sample/Main;->run()V
    return-void
.end method

.method public run()V
    .registers 3
    new-instance v0, Ljava/util/ArrayList;
    invoke-direct {v0}, Ljava/util/ArrayList;-><init>()V
    invoke-interface {v0}, Ljava/util/List;->size()I
    move-result v1
    iget-object v0, p0, Lcom/example/sample/Main;->name:Ljava/lang/String;
    invoke-static {p0, v0}, Lcom/umeng/analytics/MobclickAgent;->onEvent(Landroid/content/Context;Ljava/lang/String;)V
    return-void
.end method

.method public track(Ljava/lang/String;)V
    .registers 2
    invoke-virtual {p0}, Lcom/example/sample/Main;->run()V
    return-void
.end method

# A packed-switch payload and a sparse-switch payload sit in the middle of the method, with
# reference instructions after them: a walker that reads payload data as code goes wrong here.
.method public static choose(I)Ljava/lang/String;
    .registers 3
    packed-switch p0, :pswitch_data
    goto :after_packed

    :pswitch_data
    .packed-switch 0x6e
        :case_a
        :case_b
        :case_a
    .end packed-switch

    :after_packed
    sparse-switch p0, :sswitch_data
    const-string v0, "none"
    return-object v0

    :sswitch_data
    .sparse-switch
        0x71 -> :case_a
        0x1a0052 -> :case_b
    .end sparse-switch

    :case_a
    const-string v0, "alpha"
    invoke-static {v0}, Landroid/util/Log;->isLoggable(Ljava/lang/String;I)Z
    return-object v0

    :case_b
    sget-object v1, Lcom/example/sample/Main;->TAG:Ljava/lang/String;
    return-object v1
.end method

# fill-array-data payload whose bytes look like invoke-static (0x71) and const-string (0x1a),
# followed by real code; and a const-wide whose literal bytes look like invoke-virtual.
.method public static table()[I
    .registers 4
    const/4 v0, 0x4
    new-array v0, v0, [I
    fill-array-data v0, :array_data
    goto :after_array

    :array_data
    .array-data 4
        0x710001
        0x1a0002
        0x6e0003
        0x520004
    .end array-data

    :after_array
    const-wide v1, 0x6e00000000000071L
    invoke-static {}, Lcom/umeng/analytics/MobclickAgent;->flush()V
    nop
    return-object v0
.end method

.method public static jumbo()Ljava/lang/String;
    .registers 2
    const-string/jumbo v0, "jumbo string"
    const-string v1, "Grüße 中文 😀"
    invoke-virtual {v0, v1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public static handle(Ljava/lang/invoke/MethodHandle;)V
    .registers 3
    const-string v0, "nul\u0000inside"
    invoke-polymorphic {p0, v0}, Ljava/lang/invoke/MethodHandle;->invokeExact([Ljava/lang/Object;)Ljava/lang/Object;, (Ljava/lang/String;)V
    return-void
.end method
