; 证书助手 (Unified ID certificate helper): Windows installer, Inno Setup 6.
; Built by packaging/windows/build-installer.sh (docs/helper-it.md, "Building the helper"):
;   ISCC /DAppVersion=0.1.0 /DOrigins=https://id.example.gov.cn /DSourceDir=..\..\dist\helper unified-id-helper.iss
; Installs per machine, writes the helper's configuration file next to it, starts it at every
; log-in (HKLM Run key) and right after installing. Silent: setup.exe /VERYSILENT [/ORIGINS=...]

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#ifndef Origins
  #define Origins "http://localhost:3000"
#endif
#ifndef SourceDir
  #define SourceDir "..\..\dist\helper"
#endif

[Setup]
AppId={{6F1C2B8E-4B57-4E0B-9C1E-5A7D2C0F8E31}
AppName=证书助手
AppVerName=证书助手 {#AppVersion}
AppVersion={#AppVersion}
AppPublisher=统一身份认证平台
DefaultDirName={autopf}\UnifiedID\CertificateHelper
DefaultGroupName=证书助手
DisableProgramGroupPage=yes
; Per machine: every user of the PC signs in with the same USB key helper.
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
OutputDir={#SourceDir}
OutputBaseFilename=unified-id-helper-setup-{#AppVersion}
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
UninstallDisplayName=证书助手
CloseApplications=yes

[Languages]
Name: "chs"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Files]
Source: "{#SourceDir}\unified-id-helper-win-x64.exe"; DestDir: "{app}"; DestName: "unified-id-helper.exe"; Flags: ignoreversion

[Icons]
Name: "{group}\证书助手"; Filename: "{app}\unified-id-helper.exe"

[Registry]
; Started at every user's log-in; removed with the program.
Root: HKLM; Subkey: "Software\Microsoft\Windows\CurrentVersion\Run"; ValueType: string; ValueName: "UnifiedIDCertificateHelper"; ValueData: """{app}\unified-id-helper.exe"""; Flags: uninsdeletevalue

[Run]
; No skipifsilent: a silent install starts it too, as the user who ran setup.
Filename: "{app}\unified-id-helper.exe"; Flags: postinstall nowait runasoriginaluser runhidden

[UninstallRun]
Filename: "{sys}\taskkill.exe"; Parameters: "/F /IM unified-id-helper.exe"; Flags: runhidden; RunOnceId: "StopHelper"

[UninstallDelete]
Type: files; Name: "{app}\unified-id-helper.json"

[Code]
{ The provider origins: /ORIGINS=a,b on the command line, else those the installer was built with. }
function OriginsJson(): String;
var
  Origins, One: String;
  P: Integer;
begin
  Origins := ExpandConstant('{param:ORIGINS|{#Origins}}') + ',';
  Result := '';
  while Length(Origins) > 0 do
  begin
    P := Pos(',', Origins);
    One := Trim(Copy(Origins, 1, P - 1));
    Delete(Origins, 1, P);
    if One = '' then Continue;
    { An origin is scheme://host[:port]; anything that could break out of the JSON string is refused. }
    if ((Pos('https://', One) <> 1) and (Pos('http://', One) <> 1)) or (Pos('"', One) > 0) or (Pos('\', One) > 0) then
      RaiseException('不是有效的平台地址：' + One);
    if Result <> '' then Result := Result + ', ';
    Result := Result + '"' + One + '"';
  end;
  if Result = '' then RaiseException('没有指定平台地址（/ORIGINS=）');
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then
    SaveStringToFile(ExpandConstant('{app}\unified-id-helper.json'), '{ "origins": [' + OriginsJson() + '] }' + #13#10, False);
end;
