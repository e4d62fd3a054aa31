.class public abstract Lcom/example/sample/Base;
.super Ljava/lang/Object;

.field protected id:J

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public abstract describe()Ljava/lang/String;
.end method

.method public native nativeHash([B)I
.end method
