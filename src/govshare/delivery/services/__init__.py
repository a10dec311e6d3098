"""The data services (数据服务) for client systems: ``lookup`` (联机查询) and ``verify``
(核验). Each call goes through ``delivery.guard``: authorised against its grant, masked,
audited with group commit and receipted."""
