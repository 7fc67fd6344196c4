@echo off
rem jixiao: daily backup on a Windows server, run by Task Scheduler (see README).
rem Kept ASCII on purpose: cmd.exe reads batch files in the OEM code page.
rem DEST ends with \ : file names carry the time; only the newest 30 are kept.
cd /d C:\jixiao
if not exist logs mkdir logs
.venv\Scripts\flask.exe --app app backup D:\jixiao-backups\ --keep 30 >> logs\backup.log 2>&1
