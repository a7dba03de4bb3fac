// The MIM Sync helpdesk bot on Azure, in one resource group:
//
//   Azure Bot (global, SingleTenant, Teams channel) --> https://<web app>/api/messages
//   App Service for Linux (one container from `containerImage`, health check /healthz)
//   Storage account (Table Storage) for the bot's store: helpdesk registration, tickets, events
//   A user-assigned identity that pulls the image from Azure Container Registry (optional)
//
// Deploy (see deploy/README.md for the whole procedure):
//   az deployment group create -g <rg> -f deploy/azure/main.bicep \
//     -p @deploy/azure/main.parameters.json -p appPassword="$BOT_SECRET"
//
// Why App Service and not Container Apps: a Teams bot is one small always-on HTTPS endpoint.
// App Service gives it a managed certificate on <name>.azurewebsites.net, Always On (no cold
// start while Teams waits for the answer), a platform health check on /healthz and app settings
// as environment variables, with two resources (plan + site) and no Log Analytics workspace or
// managed environment to run. Container Apps pays off for scale-to-zero or many services, neither
// of which applies here.

targetScope = 'resourceGroup'

// ------------------------------------------------------------------------------- parameters

@description('Base name: the web app (<name>.azurewebsites.net) and the Azure Bot get this name, so it must be globally unique. Letters, digits and hyphens.')
@minLength(3)
@maxLength(40)
param name string

@description('Region of the web app, its plan, the storage account and the identity. The Azure Bot resource itself is global.')
param location string = resourceGroup().location

@description('Application (client) id of the Entra ID app registration: the appId printed by `az ad app create`.')
@minLength(36)
@maxLength(36)
param appId string

@description('Client secret of the app registration (`az ad app credential reset`). Pass it on the command line, never in a file in the repository.')
@secure()
param appPassword string

@description('SingleTenant (default: the only type Azure accepts for new bots) or MultiTenant (existing multi-tenant registrations only; deprecated).')
@allowed([
  'SingleTenant'
  'MultiTenant'
])
param appType string = 'SingleTenant'

@description('Directory (tenant) id of the app registration. Empty = the tenant you deploy into, which is right unless the app registration lives in another tenant.')
param appTenantId string = ''

@description('The bot image with its registry and tag, e.g. mimbotacr.azurecr.io/mim-sync-bot:1.0.0 (built from deploy/Dockerfile).')
param containerImage string

@description('Name of the Azure Container Registry (in this resource group) that holds the image; the web app pulls with a managed identity that gets AcrPull. Empty for a public image.')
param acrName string = ''

@description('Azure Bot pricing tier. F0 is free (Teams is a standard channel: its messages are free on either tier).')
@allowed([
  'F0'
  'S1'
])
param botSku string = 'F0'

@description('App Service plan tier (Linux). Always On needs Basic (B1) or above.')
@allowed([
  'B1'
  'B2'
  'B3'
  'S1'
  'P0v3'
  'P1v3'
])
param planSku string = 'B1'

@description('Redundancy of the storage account that holds the store.')
@allowed([
  'Standard_LRS'
  'Standard_ZRS'
  'Standard_GRS'
])
param storageSku string = 'Standard_LRS'

@description('Name of the bot as shown in the Azure portal (the Teams app package sets what Teams users see).')
param botDisplayName string = 'MIM Sync helpdesk'

@description('Log level of the bot.')
@allowed([
  'DEBUG'
  'INFO'
  'WARNING'
  'ERROR'
])
param logLevel string = 'INFO'

@description('Prefix of the store\'s table names, so that several bots can share one storage account.')
param tablePrefix string = 'mimbot'

@description('Optional: pin the helpdesk channel by configuration instead of "@bot set helpdesk" (Teams channel id, 19:...@thread.tacv2). Needs helpdeskServiceUrl too.')
param helpdeskChannelId string = ''

@description('Optional: the Bot Framework service URL of the helpdesk channel\'s team (with helpdeskChannelId).')
param helpdeskServiceUrl string = ''

@description('Tags for every resource.')
param tags object = {}

// -------------------------------------------------------------------------------- variables

var tenantId = empty(appTenantId) ? tenant().tenantId : appTenantId
var isSingleTenant = appType == 'SingleTenant'
var useAcr = !empty(acrName)
// Storage account names: 3-24 lowercase letters and digits, unique across Azure.
var storageName = 'st${uniqueString(resourceGroup().id, name)}'
var botPort = '3978'

// Set only when configured: the bot checks that both or neither are set.
var helpdeskSettings = empty(helpdeskChannelId) ? [] : [
  {
    name: 'HELPDESK_CHANNEL_ID'
    value: helpdeskChannelId
  }
  {
    name: 'HELPDESK_SERVICE_URL'
    value: helpdeskServiceUrl
  }
]

// ---------------------------------------------------------------------------------- storage

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: storageName
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: storageSku
  }
  properties: {
    accessTier: 'Hot'
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    // The store signs in with the account key (AZURE_TABLES_CONNECTION_STRING).
    allowSharedKeyAccess: true
    publicNetworkAccess: 'Enabled'
  }
}

// The store creates its tables itself (prefixed with tablePrefix) on first start.
resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
  properties: {
    cors: {
      corsRules: []
    }
  }
}

// ---------------------------------------------------------------------------------- hosting

// Created first so that it can be granted AcrPull before the web app pulls its image.
resource pullIdentity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
  tags: tags
}

module acrPull 'modules/acr-pull.bicep' = if (useAcr) {
  name: '${name}-acr-pull'
  params: {
    acrName: acrName
    principalId: pullIdentity.properties.principalId
  }
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: '${name}-plan'
  location: location
  tags: tags
  kind: 'linux'
  sku: {
    name: planSku
  }
  properties: {
    reserved: true // Linux
  }
}

resource webApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: tags
  kind: 'app,linux,container'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${pullIdentity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    siteConfig: {
      linuxFxVersion: 'DOCKER|${containerImage}'
      acrUseManagedIdentityCreds: useAcr
      acrUserManagedIdentityID: useAcr ? pullIdentity.properties.clientId : ''
      alwaysOn: true
      healthCheckPath: '/healthz'
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      // Every setting reaches the container as an environment variable of the same name.
      appSettings: concat([
        {
          name: 'MicrosoftAppId'
          value: appId
        }
        {
          name: 'MicrosoftAppPassword'
          value: appPassword
        }
        {
          name: 'MicrosoftAppType'
          value: appType
        }
        {
          name: 'MicrosoftAppTenantId'
          value: isSingleTenant ? tenantId : ''
        }
        {
          name: 'STORE'
          value: 'azure-table'
        }
        {
          name: 'AZURE_TABLES_CONNECTION_STRING'
          value: 'DefaultEndpointsProtocol=https;AccountName=${storage.name};AccountKey=${storage.listKeys().keys[0].value};EndpointSuffix=${environment().suffixes.storage}'
        }
        {
          name: 'TABLE_PREFIX'
          value: tablePrefix
        }
        {
          name: 'LOG_LEVEL'
          value: logLevel
        }
        {
          // The port the container listens on (the image's EXPOSE and PORT).
          name: 'WEBSITES_PORT'
          value: botPort
        }
        {
          // No /home mount: the bot keeps nothing on local disk in Azure (STORE=azure-table).
          name: 'WEBSITES_ENABLE_APP_SERVICE_STORAGE'
          value: 'false'
        }
      ], helpdeskSettings)
    }
  }
  dependsOn: [
    acrPull // the pull permission exists before the first pull
    tableService
  ]
}

// Container stdout/stderr (the config doctor's message, the bot's log) to `az webapp log tail`.
resource webAppLogs 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: webApp
  name: 'logs'
  properties: {
    applicationLogs: {
      fileSystem: {
        level: 'Information'
      }
    }
    httpLogs: {
      fileSystem: {
        enabled: true
        retentionInDays: 7
        retentionInMb: 35
      }
    }
    detailedErrorMessages: {
      enabled: false
    }
    failedRequestsTracing: {
      enabled: false
    }
  }
}

// ---------------------------------------------------------------------------------- the bot

var messagingEndpoint = 'https://${webApp.properties.defaultHostName}/api/messages'

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: name
  location: 'global'
  tags: tags
  kind: 'azurebot'
  sku: {
    name: botSku
  }
  properties: {
    displayName: botDisplayName
    endpoint: messagingEndpoint
    msaAppId: appId
    msaAppType: appType
    msaAppTenantId: isSingleTenant ? tenantId : ''
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
    }
  }
}

// ---------------------------------------------------------------------------------- outputs

@description('The messaging endpoint registered on the Azure Bot.')
output botEndpoint string = messagingEndpoint

@description('Host name of the web app: https://<this>/healthz should answer {"status": "ok", ...}.')
output webAppHostName string = webApp.properties.defaultHostName

output webAppName string = webApp.name
output botName string = bot.name
output storageAccountName string = storage.name
output tenantId string = isSingleTenant ? tenantId : ''
