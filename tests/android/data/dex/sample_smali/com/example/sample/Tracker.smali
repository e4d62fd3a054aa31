.class public interface abstract Lcom/example/sample/Tracker;
.super Ljava/lang/Object;

.method public abstract track(Ljava/lang/String;)V
.end method
